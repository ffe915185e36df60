-- Run by every instance watching the lobby, every third of the lease: renews the instance's lease
-- and removes the members of instances whose lease ran out (their instance stopped), publishing
-- each leaving; if the host's instance stopped, the lobby ends. Keeps the keys from expiring while
-- an instance watches.
-- KEYS: the lobby's hash, its members, its leases. ARGV: channel, instance, lease (ms), keep (ms).
-- Returns how many members were removed.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('HSET', KEYS[3], ARGV[2], now + tonumber(ARGV[3]))
local alive = {}
local leases = redis.call('HGETALL', KEYS[3])
for i = 1, #leases, 2 do
  if tonumber(leases[i + 1]) >= now then
    alive[leases[i]] = true
  else
    redis.call('HDEL', KEYS[3], leases[i])
  end
end
local gone = {}
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do
  if not alive[string.match(entries[i + 1], ' (.*)$')] then table.insert(gone, entries[i]) end
end
for _, peer in ipairs(gone) do
  if peer == '1' then
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
    redis.call('PUBLISH', ARGV[1], cjson.encode({ e = 'closed' }))
    return #gone
  end
end
for _, peer in ipairs(gone) do
  redis.call('HDEL', KEYS[2], peer)
  redis.call('PUBLISH', ARGV[1], cjson.encode({ e = 'left', peer = tonumber(peer) }))
end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
return #gone
