class NormaliseUserEmails < ActiveRecord::Migration[7.1]
  disable_ddl_transaction!

  def up
    User.unscoped.where("email <> LOWER(email)").find_each do |user|
      user.update_columns(email: user.email.downcase)
    end
  end

  def down
    raise ActiveRecord::IrreversibleMigration
  end
end
# verdict: pre_deploy: data normalisation both code versions live with
