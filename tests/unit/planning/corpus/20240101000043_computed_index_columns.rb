class ComputedIndexColumns < ActiveRecord::Migration[7.1]
  COLUMNS = %i[first_name last_name].freeze

  def change
    add_index :users, COLUMNS
  end
end
# verdict: manual: the index columns are computed: shipit cannot see what it builds
