class CreateSessionsWithoutId < ActiveRecord::Migration[8.0]
  def change
    create_table :sessions, id: false do |t|
      t.string :token, null: false
      t.belongs_to :user, null: false, foreign_key: true
      t.index :token, unique: true
    end
  end
end
# verdict: pre_deploy: a new table without id
