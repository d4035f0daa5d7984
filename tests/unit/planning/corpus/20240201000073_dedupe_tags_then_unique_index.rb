class DedupeTagsThenUniqueIndex < ActiveRecord::Migration[7.0]
  def up
    execute <<~SQL
      DELETE d FROM tags d
        JOIN tags k ON d.name = k.name AND d.id > k.id
    SQL
    add_index :tags, :name, unique: true
  end

  def down
    remove_index :tags, :name
  end
end
# verdict: pre_deploy: it deletes the duplicates itself, so the duplicates check only advises
