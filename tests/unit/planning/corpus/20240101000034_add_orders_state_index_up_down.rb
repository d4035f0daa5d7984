class AddOrdersStateIndexUpDown < ActiveRecord::Migration[6.0]
  def up
    add_index :orders, :state, algorithm: :inplace
  end

  def down
    remove_index :orders, :state
  end
end
# verdict: pre_deploy: an index in `up`: additive
