class UniquePagesUrlPrefix < ActiveRecord::Migration[6.1]
  def change
    add_index :pages, [:site_id, :url], unique: true, length: { url: 191 }
  end
end
# verdict: pre_deploy: unique prefix index: duplicates compared on the first 191 characters
