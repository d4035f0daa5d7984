class AddLineItemsProductsFk70 < ActiveRecord::Migration[7.0]
  def change
    add_foreign_key :line_items, :products, primary_key: :sku
  end
end
# verdict: pre_deploy: a foreign key; 7.0 names the column <table>_id
