class CreateUsers < ActiveRecord::Migration[7.1]
  def change
    create_table :users do |t|
      t.string :email, null: false
      t.string :name
      t.timestamps
      t.index :email, unique: true
    end
  end
end
# verdict: pre_deploy: a new table: no running code uses it yet
