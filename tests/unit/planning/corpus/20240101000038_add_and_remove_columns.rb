class AddAndRemoveColumns < ActiveRecord::Migration[7.0]
  def change
    add_column :users, :display_name, :string
    remove_column :users, :name, :string
  end
end
# verdict: manual: drops name, which User does not ignore, and adds a column the new code needs
