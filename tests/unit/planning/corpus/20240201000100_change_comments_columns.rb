class ChangeCommentsColumns < ActiveRecord::Migration[6.0]
  def change
    reversible do |dir|
      change_table :comments, bulk: true do |t|
        dir.up { t.change :body, :text }
        dir.down { t.change :body, :string }
      end
    end
  end
end
# verdict: manual: a type change inside change_table rebuilds the table and may break either code version
