class DropCategoriesProducts < ActiveRecord::Migration[7.0]
  def change
    drop_join_table :categories, :products
  end
end
# verdict: post_deploy: a join table the old code may still read
