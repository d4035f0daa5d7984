class RemoveOrderGiftColumns < ActiveRecord::Migration[7.1]
  def change
    remove_columns :orders, *%i[coupon_code gift_note], type: :string
  end
end
# verdict: post_deploy: Order ignores both columns at --to
