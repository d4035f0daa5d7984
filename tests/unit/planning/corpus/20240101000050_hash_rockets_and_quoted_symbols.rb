class HashRocketsAndQuotedSymbols < ActiveRecord::Migration[5.2]
  def change
    add_index :users, :api_key, :unique => true, :name => "index_users_api_key"
    add_column :"user_events", :"payload", :json
  end
end
# verdict: pre_deploy: additive, in old syntax
