class AddLineItemsProductsFk71 < ActiveRecord::Migration[7.1]
  def change
    add_foreign_key :line_items, :products, primary_key: :sku
  end
end
