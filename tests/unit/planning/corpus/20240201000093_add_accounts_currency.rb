class AddAccountsCurrency < ActiveRecord::Migration[8.0]
  def change
    add_column :customer_accounts, :currency, :string, null: false, default: "EUR", limit: 3
  end
end
# verdict: pre_deploy: NOT NULL with a default: old INSERTs get the default
