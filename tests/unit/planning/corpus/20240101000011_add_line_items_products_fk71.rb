class AddLineItemsProductsFk71 < ActiveRecord::Migration[7.1]
  def change
    add_foreign_key :line_items, :products, primary_key: :sku
  end
end
# verdict: pre_deploy: a foreign key; 7.1 names the column from the primary key
