class Order < ApplicationRecord
  self.ignored_columns += [:coupon_code, "gift_note"]
end
