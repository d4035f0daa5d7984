class AddIndexStatusesAccountIdId < ActiveRecord::Migration[6.1]
  disable_ddl_transaction!

  def change
    safety_assured do
      add_index :statuses, [:account_id, :id], order: { id: :desc }, algorithm: :concurrently
    end
  end
end
# verdict: manual: algorithm: :concurrently raises on MySQL: the migration fails
# reason: PostgreSQL-only
