class AddPriceCheck < ActiveRecord::Migration[7.1]
  def change
    add_check_constraint :products, "price >= 0", name: "price_non_negative"
  end
end
# verdict: post_deploy: a CHECK the old code may violate; existing rows checked first
