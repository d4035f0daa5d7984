class GhOstDropUsersLegacyFlag < ActiveRecord::Migration[7.0]
  def up
    %x(gh-ost --table=users --alter="DROP COLUMN legacy_flag" --assume-rbr --execute)
  end
end
# verdict: post_deploy: drops a column User already ignores: only after the old code is gone
