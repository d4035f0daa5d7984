class CreateAccountsSchemaStyle < ActiveRecord::Migration[5.2]
  def change
    create_table "accounts", id: :bigint, force: :cascade do |t|
      t.string "name", null: false
      t.column "balance", :decimal, precision: 10, scale: 2
      t.datetime "created_at", null: false
      t.index ["name"], name: "index_accounts_on_name", unique: true
    end
  end
end
# verdict: pre_deploy: a new table in schema.rb style
