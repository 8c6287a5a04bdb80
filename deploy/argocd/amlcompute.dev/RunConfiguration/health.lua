-- Argo CD health of amlcompute.dev/RunConfiguration (summary condition Ready).
--   status missing, or status.observedGeneration ~= metadata.generation -> Progressing
--   Ready=True                                                         -> Healthy
--   Ready=False with severity Error (the controller's "needs a human")  -> Degraded
--   anything else (Ready=Unknown, or False with a transient severity)   -> Progressing
local hs = { status = "Progressing", message = "Waiting for the controller to observe the resource" }
if obj.status == nil then
  return hs
end
local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed ~= generation) then
  hs.message = "Waiting for the controller to observe generation " .. generation
  return hs
end
local ready = nil
if obj.status.conditions ~= nil then
  for _, c in ipairs(obj.status.conditions) do
    if c.type == "Ready" then
      ready = c
    end
  end
end
if ready == nil then
  hs.message = "Waiting for the Ready condition"
  return hs
end
local text = ready.reason or ready.status
if ready.message ~= nil and ready.message ~= "" then
  text = text .. ": " .. ready.message
end
if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.status == "False" and ready.severity == "Error" then
  hs.status = "Degraded"
end
hs.message = text
return hs
