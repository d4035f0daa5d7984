class BackfillUsersRole < ActiveRecord::Migration[7.1]
  def up
    say_with_time "Backfilling users.role" do
      execute "UPDATE users SET role = 'member' WHERE role IS NULL"
    end
    puts "done"
    say "remember to restart the workers", true
  end

  def down; end
end
# verdict: pre_deploy: an idempotent backfill with log output
