class CreatePosts < ActiveRecord::Migration[6.1]
  def change
    create_table :posts do |t|
      t.references :user, foreign_key: true
      t.belongs_to :category, index: false
      t.string :title, limit: 200
      t.text :body
    end
  end
end
# verdict: pre_deploy: a new table; its foreign key is on an empty table, so cheap
