class AddByteSizeToSolidCacheEntries < ActiveRecord::Migration[7.1]
  def change
    change_table :solid_cache_entries, bulk: true do |t|
      t.integer :byte_size, limit: 4, null: false, default: 0
      t.index [:key_hash, :byte_size], name: "index_solid_cache_entries_on_key_hash_and_byte_size"
    end
  end
end
# database: cache
# verdict: pre_deploy: a column with a default (the old code's writes get 0) and a plain index on the cache database
