class CreateProducts < ActiveRecord::Migration
  def change
    create_table :products do |t|
      t.string :title
      t.references :category
      t.timestamps
    end
  end
end
# verdict: pre_deploy: Rails 4.2 style new table; its reference has no index in 4.2
