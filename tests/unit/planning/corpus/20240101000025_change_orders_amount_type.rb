class ChangeOrdersAmountType < ActiveRecord::Migration[6.1]
  def up
    change_column :orders, :amount, :decimal, precision: 12, scale: 2, null: false
  end

  def down
    change_column :orders, :amount, :integer
  end
end
# verdict: manual: a type change copies the table and can break either code version
