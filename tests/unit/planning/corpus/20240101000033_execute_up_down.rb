class ExecuteUpDown < ActiveRecord::Migration[5.2]
  def up
    execute "ALTER TABLE orders ENGINE=InnoDB"
  end

  def down
    execute "ALTER TABLE orders ENGINE=MyISAM"
  end
end
# verdict: manual: raw DDL: a person must judge the lock and the staging
