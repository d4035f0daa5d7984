class RemoveOrdersUsersFk < ActiveRecord::Migration[6.1]
  def change
    remove_foreign_key :orders, :users
  end
end
# verdict: pre_deploy: dropping a foreign key only relaxes: safe on both sides
