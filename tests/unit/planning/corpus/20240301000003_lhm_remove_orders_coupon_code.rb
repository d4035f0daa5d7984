class LhmRemoveOrdersCouponCode < ActiveRecord::Migration[7.0]
  def up
    Lhm.change_table :orders do |m|
      m.remove_column :coupon_code
      m.remove_index [:coupon_code]
    end
    Lhm.cleanup(true)
  end
end
# verdict: post_deploy: drops a column Order already ignores, and its index: the running code may still query it
