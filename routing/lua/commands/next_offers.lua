-- next_offers(now, offer ids...) -> the offers made, at most one per id, as next_offer makes
-- them one after another (each flushed before the next is decided); fewer when nothing
-- more matches
local now = tonumber(ARGV[3])
local made = {}
for i = 4, #ARGV do
  local offer = offer_next(ARGV[i], now)
  if not offer then break end
  flush()
  made[#made + 1] = offer
end
return records(made)
