-- Creates a lobby (its creator is peer 1) or adds a member to one, then publishes the join with
-- the members before it, in join order.
-- KEYS: the lobby's hash, its members, its leases.
-- ARGV: channel, instance, ticket, lease (ms), keep (ms), create ('1' or '0'), mesh ('1' or '0'),
--       most members, then the peer ids to try.
-- Returns the new member's peer id, or why it was refused: 'taken', 'missing', 'sealed', 'full',
-- 'no-id'.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local peer
if ARGV[6] == '1' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 'taken' end
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('HSET', KEYS[1], 'mesh', ARGV[7], 'sealed', '0', 'seq', '0')
  peer = 1
else
  local lobby = redis.call('HMGET', KEYS[1], 'mesh', 'sealed')
  if not lobby[1] then return 'missing' end
  if lobby[2] == '1' then return 'sealed' end
  if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[8]) then return 'full' end
  for i = 9, #ARGV do
    if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 0 then
      peer = tonumber(ARGV[i])
      break
    end
  end
  if not peer then return 'no-id' end
end
local entries = redis.call('HGETALL', KEYS[2])
local order = {}
for i = 1, #entries, 2 do
  table.insert(order, { tonumber(string.match(entries[i + 1], '^(%d+)')), entries[i] })
end
table.sort(order, function(a, b) return a[1] < b[1] end)
local members = {}
for _, entry in ipairs(order) do table.insert(members, entry[2]) end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[2], tostring(peer), seq .. ' ' .. ARGV[2])
redis.call('HSET', KEYS[3], ARGV[2], now + tonumber(ARGV[4]))
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
local mesh = redis.call('HGET', KEYS[1], 'mesh') == '1'
redis.call('PUBLISH', ARGV[1], cjson.encode({
  e = 'joined', peer = peer, instance = ARGV[2], ticket = ARGV[3], mesh = mesh,
  members = table.concat(members, ' ')
}))
return peer
