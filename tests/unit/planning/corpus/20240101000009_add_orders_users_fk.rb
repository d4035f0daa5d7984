class AddOrdersUsersFk < ActiveRecord::Migration[6.1]
  def change
    add_foreign_key :orders, :users
  end
end
# verdict: pre_deploy: a foreign key the new code relies on; orphans must be checked
