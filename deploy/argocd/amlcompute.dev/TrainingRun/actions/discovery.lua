-- Argo CD resource actions of amlcompute.dev/TrainingRun: "cancel" sets spec.cancel, enabled
-- while the run can still be canceled (not finished, not already canceled).
local actions = {}
local finished = false
if obj.status ~= nil and obj.status.phase ~= nil then
  finished = obj.status.phase == "Completed" or obj.status.phase == "Failed" or obj.status.phase == "Canceled"
end
local canceled = obj.spec ~= nil and obj.spec.cancel == true
actions["cancel"] = { ["disabled"] = finished or canceled }
return actions
