class RemoveIndexByName < ActiveRecord::Migration[7.0]
  def change
    remove_index :users, name: "idx_old", algorithm: :inplace
  end
end
# verdict: post_deploy: dropping an index the old code may use: after the code
