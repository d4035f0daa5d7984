class BackfillWithSql < ActiveRecord::Migration[7.0]
  def up
    execute <<~SQL
      UPDATE users
         SET status = 'active'
       WHERE status IS NULL
    SQL
  end

  def down; end
end
# verdict: pre_deploy: an idempotent backfill: both code versions live with it
