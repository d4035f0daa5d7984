ActiveRecord::Schema[7.1].define(version: 2024_01_01_000000) do
  create_table "users", charset: "utf8mb4", force: :cascade do |t|
    t.string "email", null: false
    t.string "status", default: "active", null: false
    t.string "nickname", default: ""
    t.string "locale"
    t.index ["email"], name: "index_users_on_email", unique: true
  end

  create_table "customer_accounts", charset: "utf8mb4", force: :cascade do |t|
    t.integer "seats", default: 1, null: false
  end
end
