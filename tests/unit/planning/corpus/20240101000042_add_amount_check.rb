class AddAmountCheck < ActiveRecord::Migration[7.1]
  def change
    add_check_constraint :orders, "amount > 0", name: "amount_positive"
  end
end
# verdict: post_deploy: a CHECK rejects writes the old code may still make; existing rows checked
