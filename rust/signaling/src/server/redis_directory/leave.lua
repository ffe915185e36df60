-- A member that is not the host leaves: it is removed and its leaving published.
-- KEYS: the lobby's hash, its members, its leases. ARGV: channel, peer id.
if redis.call('HDEL', KEYS[2], ARGV[2]) == 1 then
  redis.call('PUBLISH', ARGV[1], cjson.encode({ e = 'left', peer = tonumber(ARGV[2]) }))
end
return 0
