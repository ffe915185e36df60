-- The host leaves, which ends the lobby: its keys are deleted and its end published. Only the
-- instance holding the host (peer 1) may do this.
-- KEYS: the lobby's hash, its members, its leases. ARGV: channel, instance.
local host = redis.call('HGET', KEYS[2], '1')
if not host or string.match(host, ' (.*)$') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('PUBLISH', ARGV[1], cjson.encode({ e = 'closed' }))
return 1
