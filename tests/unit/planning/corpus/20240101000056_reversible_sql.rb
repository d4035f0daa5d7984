class ReversibleSql < ActiveRecord::Migration[7.0]
  def change
    reversible do |direction|
      direction.up do
        execute <<-SQL.squish
          CREATE VIEW active_users AS
            SELECT * FROM users WHERE active = 1
        SQL
      end
      direction.down do
        execute "DROP VIEW active_users"
      end
    end
  end
end
# verdict: manual: raw SQL creating a view: a person must judge it
