-- next_offer(now, offer id) -> the offer made, or nil when nothing matches
local offer = offer_next(ARGV[4], tonumber(ARGV[3]))
if not offer then return false end
flush()
return record(offer)
