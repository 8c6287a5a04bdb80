-- Runs one Argo CD health.lua the way Argo CD does: a global `obj` (the live object, decoded from
-- the JSON on stdin), no io/os libraries (Argo CD leaves them out unless useOpenLibs is set), and
-- the table returned by the script. Prints {"status":...,"message":...} as JSON.
-- usage: lua5.1 argocd-health.lua <health.lua> < object.json
--        lua5.1 argocd-health.lua <discovery.lua|action.lua> raw < object.json   (prints the whole result)
local cjson = require("cjson")
local chunk = assert(loadfile(arg[1]))
local sandbox = {
  obj = cjson.decode(io.read("*a")),
  ipairs = ipairs, pairs = pairs, next = next, type = type, tostring = tostring, tonumber = tonumber,
  error = error, pcall = pcall, select = select, unpack = unpack,
  string = string, table = table, math = math,
}
setfenv(chunk, sandbox)
local hs = chunk()
if type(hs) ~= "table" then error("health.lua returned " .. type(hs) .. ", not a table") end
if arg[2] == "raw" then
  io.write(cjson.encode(hs))
else
  io.write(cjson.encode({ status = hs.status, message = hs.message }))
end
