-- Argo CD health of amlcompute.dev/Sweep (a bounded search: summary condition Succeeded).
--   status missing, or status.observedGeneration ~= metadata.generation -> Progressing
--   Succeeded=True (all trials ran, or maxDurationSeconds with a best trial) -> Healthy
--   Succeeded=False (invalid space, no trial reported the metric, canceled) -> Degraded
--   Suspended=True while Succeeded is Unknown                            -> Suspended
--   otherwise                                                          -> Progressing, with the trial counts
-- The Progressing message counts trials, so an Application view shows how far the search is.
local hs = { status = "Progressing", message = "Waiting for the controller to observe the sweep" }
local st = obj.status
if st == nil then
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and (st.observedGeneration == nil or st.observedGeneration ~= generation) then
  hs.message = "Waiting for the controller to observe generation " .. generation
  return hs
end
local found = {}
for _, c in ipairs(st.conditions or {}) do
  found[c.type] = c
end
local done = found["Succeeded"]
local function describe(c, fallback)
  local text = (c and c.reason) or fallback
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end
if done ~= nil and done.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(done, "Completed")
  return hs
end
if done ~= nil and done.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(done, "Failed")
  return hs
end
local paused = found["Suspended"]
if paused ~= nil and paused.status == "True" then
  hs.status = "Suspended"
  hs.message = describe(done, "Suspended")
  return hs
end
local counts = st.trialCounts
if counts ~= nil then
  local text = string.format("%d trials: %d running, %d completed", counts.total or 0, counts.running or 0, counts.completed or 0)
  if st.bestTrial ~= nil and st.bestTrial.metric ~= nil then
    text = text .. string.format(", best %s", tostring(st.bestTrial.metric))
  end
  if done ~= nil and done.reason ~= nil and done.reason ~= "Running" then
    text = text .. " (" .. describe(done, "") .. ")"
  end
  hs.message = text
  return hs
end
if done ~= nil then
  hs.message = describe(done, "Running")
end
return hs
