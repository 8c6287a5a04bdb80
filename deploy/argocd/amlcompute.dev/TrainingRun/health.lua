-- Argo CD health of amlcompute.dev/TrainingRun (a bounded run: summary condition Succeeded).
--   status missing, or status.observedGeneration ~= metadata.generation -> Progressing
--   Succeeded=True                                                     -> Healthy
--   Succeeded=False (failed, deadline, lost, ... and Canceled)         -> Degraded
--   Suspended=True while Succeeded is Unknown                          -> Suspended
--   Succeeded=Unknown or absent                                        -> Progressing (condition message)
-- Canceled is Degraded, not Suspended or Healthy: a canceled run never produced its result, it cannot
-- be resumed (spec.cancel cannot be unset), and a TrainingRun used as a sync hook must then fail
-- the sync (Argo CD maps Degraded to a failed hook; Suspended would keep the hook waiting forever).
local hs = { status = "Progressing", message = "Waiting for the controller to observe the run" }
if obj.status == nil then
  return hs
end
local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed ~= generation) then
  hs.message = "Waiting for the controller to observe generation " .. generation
  return hs
end
local succeeded = nil
local suspended = nil
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Succeeded" then
      succeeded = c
    elseif c.type == "Suspended" then
      suspended = c
    end
  end
end
if succeeded ~= nil and succeeded.status == "True" then
  hs.status = "Healthy"
  hs.message = succeeded.message or "Run completed"
  return hs
end
if succeeded ~= nil and succeeded.status == "False" then
  hs.status = "Degraded"
  local reason = succeeded.reason or "Failed"
  if succeeded.message ~= nil and succeeded.message ~= "" then
    hs.message = reason .. ": " .. succeeded.message
  else
    hs.message = reason
  end
  return hs
end
if suspended ~= nil and suspended.status == "True" then
  hs.status = "Suspended"
  hs.message = suspended.message or "Run is suspended"
  return hs
end
if succeeded ~= nil then
  if succeeded.message ~= nil and succeeded.message ~= "" then
    hs.message = succeeded.message
  elseif succeeded.reason ~= nil then
    hs.message = succeeded.reason
  end
  return hs
end
if obj.status.phase ~= nil then
  hs.message = "Run is " .. obj.status.phase
end
return hs
