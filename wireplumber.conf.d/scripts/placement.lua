-- pw-ghost-rec: keeps   <capture> -> ghostrec tap -> <destination>   linked (WirePlumber 0.5).
-- Configuration: the ghostrec.placement section (see 60-ghostrec.conf).

local log = Log.open_topic("s-ghostrec")

local config = Conf.get_section_as_properties("ghostrec.placement", {})
local tap_name = config["node"] or "ghostrec"
local capture_name = config["capture"]
local destination_name = config["destination"]

-- Links this script created, by "outport:inport" global ids; kept referenced so the proxies
-- (and with them the links) live as long as both ports do.
local made = {}

local nodes_om = ObjectManager { Interest { type = "node" } }
local ports_om = ObjectManager { Interest { type = "port" } }
local links_om = ObjectManager { Interest { type = "link" } }

local function find_node(name)
  if name == nil then
    return nil
  end
  return nodes_om:lookup { Constraint { "node.name", "=", name, type = "pw" } }
end

-- Audio ports of a node in one direction, in port order. Monitor ports only count when the
-- node has no others (a virtual source's outputs are monitor ports; a sink's monitors are not
-- what we want when it also has real outputs).
local function node_ports(node, direction)
  local ports, monitors = {}, {}
  for port in ports_om:iterate {
    Constraint { "node.id", "=", tostring(node["bound-id"]), type = "pw-global" },
    Constraint { "port.direction", "=", direction, type = "pw" },
  } do
    if port.properties["port.monitor"] == "true" then
      table.insert(monitors, port)
    else
      table.insert(ports, port)
    end
  end
  if #ports == 0 then
    ports = monitors
  end
  table.sort(ports, function(a, b)
    return tonumber(a.properties["port.id"] or 0) < tonumber(b.properties["port.id"] or 0)
  end)
  return ports
end

-- Pairs output ports with input ports: same audio.channel first, else by position.
local function pair_ports(outs, ins)
  local pairs_ = {}
  local by_channel = {}
  for _, p in ipairs(ins) do
    local ch = p.properties["audio.channel"]
    if ch then
      by_channel[ch] = p
    end
  end
  for i, op in ipairs(outs) do
    local ch = op.properties["audio.channel"]
    local ip = (ch and by_channel[ch]) or ins[i]
    if ip then
      table.insert(pairs_, { op, ip })
    end
  end
  return pairs_
end

local function link_exists(out_id, in_id)
  return links_om:lookup {
    Constraint { "link.output.port", "=", tostring(out_id), type = "pw-global" },
    Constraint { "link.input.port", "=", tostring(in_id), type = "pw-global" },
  } ~= nil
end

local function connect(out_node, in_node)
  for _, pair in ipairs(pair_ports(node_ports(out_node, "out"), node_ports(in_node, "in"))) do
    local op, ip = pair[1], pair[2]
    local key = tostring(op["bound-id"]) .. ":" .. tostring(ip["bound-id"])
    if not link_exists(op["bound-id"], ip["bound-id"]) and made[key] == nil then
      log:info(string.format("linking %s:%s -> %s:%s", out_node.properties["node.name"],
        op.properties["port.name"] or "?", in_node.properties["node.name"],
        ip.properties["port.name"] or "?"))
      local link = Link("link-factory", {
        ["link.output.node"] = tostring(out_node["bound-id"]),
        ["link.output.port"] = tostring(op["bound-id"]),
        ["link.input.node"] = tostring(in_node["bound-id"]),
        ["link.input.port"] = tostring(ip["bound-id"]),
        ["object.linger"] = false,
        ["link.passive"] = false,
      })
      made[key] = link
      link:activate(Feature.Proxy.BOUND, function(l, e)
        if e then
          log:warning("ghostrec link " .. key .. " failed: " .. tostring(e))
          made[key] = nil
        end
      end)
    end
  end
end

local function forget_dead_links()
  for key, link in pairs(made) do
    local out_id, in_id = key:match("(%d+):(%d+)")
    local alive_out = ports_om:lookup { Constraint { "object.id", "=", out_id, type = "pw-global" } }
    local alive_in = ports_om:lookup { Constraint { "object.id", "=", in_id, type = "pw-global" } }
    if alive_out == nil or alive_in == nil then
      made[key] = nil
    end
  end
end

local function rescan()
  forget_dead_links()
  local tap = find_node(tap_name)
  if tap == nil then
    return
  end
  local capture = find_node(capture_name)
  if capture ~= nil then
    connect(capture, tap)
  end
  local destination = find_node(destination_name)
  if destination ~= nil then
    connect(tap, destination)
  end
end

if capture_name == nil and destination_name == nil then
  log:info("ghostrec.placement has no capture/destination: not linking " .. tap_name)
else
  log:info(string.format("ghostrec placement: %s -> %s -> %s", tostring(capture_name), tap_name,
    tostring(destination_name)))
  nodes_om:connect("objects-changed", rescan)
  ports_om:connect("objects-changed", rescan)
  links_om:connect("objects-changed", rescan)
  nodes_om:activate()
  ports_om:activate()
  links_om:activate()
end
