class PtOscUniqueUsersHandle < ActiveRecord::Migration[6.1]
  def up
    ok = Kernel.system(
      "pt-online-schema-change",
      "--alter", "ADD UNIQUE KEY idx_users_handle (handle), ALGORITHM=INPLACE",
      "--no-check-unique-key-change",
      "--execute",
      "D=#{connection.current_database},t=users"
    )
    raise "pt-online-schema-change failed" unless ok
  end
end
# verdict: pre_deploy: a unique index is additive; with the check off, the duplicates check is what keeps rows from vanishing
