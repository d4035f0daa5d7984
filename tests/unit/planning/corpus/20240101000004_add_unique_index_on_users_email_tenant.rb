class AddUniqueIndexOnUsersEmailTenant < ActiveRecord::Migration[6.0]
  def change
    add_index "users", ["email", "tenant_id"], unique: true, name: "idx_users_email_tenant", algorithm: :inplace
  end
end
# verdict: pre_deploy: additive, but existing duplicates would fail it: check them first
