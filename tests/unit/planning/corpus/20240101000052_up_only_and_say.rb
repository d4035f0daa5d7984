class UpOnlyAndSay < ActiveRecord::Migration[7.0]
  def change
    say_with_time "adding the flag" do
      add_column :accounts, :beta, :boolean, default: false
    end
    up_only do
      change_column_default :accounts, :beta, true
    end
  end
end
# verdict: pre_deploy: adds a column and sets a default
