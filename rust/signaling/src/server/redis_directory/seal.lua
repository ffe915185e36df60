-- The host seals the lobby: no one joins after. Only the instance holding the host may do this.
-- KEYS: the lobby's hash, its members, its leases. ARGV: channel, instance.
local host = redis.call('HGET', KEYS[2], '1')
if not host or string.match(host, ' (.*)$') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'sealed', '1')
redis.call('PUBLISH', ARGV[1], cjson.encode({ e = 'sealed' }))
return 1
