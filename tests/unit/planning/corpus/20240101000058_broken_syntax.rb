class BrokenSyntax < ActiveRecord::Migration[7.1]
  def change
    add_column :users, :x, :string,
  end
# verdict: manual: Rails cannot load the file
