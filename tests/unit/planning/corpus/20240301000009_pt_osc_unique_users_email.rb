class PtOscUniqueUsersEmail < ActiveRecord::Migration[6.1]
  def up
    `pt-online-schema-change --alter "ADD UNIQUE INDEX idx_users_email (email)" D=app_production,t=users --execute`
    raise "pt-osc failed" unless $?.success?
  end
end
# verdict: manual: pt-online-schema-change refuses to add a unique index unless told --no-check-unique-key-change
# reason: --no-check-unique-key-change
